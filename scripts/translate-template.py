#!/usr/bin/env python3
# Prints the CloudFormation that `sam deploy` would create from a SAM
# template (aws-sam-translator, which ships with cfn-lint), offline.
# Usage: scripts/translate-template.py template.yaml ['{"Param":"value"}']
import json, os, sys
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse
t = yaml_parse(open(sys.argv[1]).read())
for r in t["Resources"].values():
    if r["Type"] == "AWS::Serverless::Function":
        r["Properties"]["CodeUri"] = "s3://bucket/key.zip"
class Loader:
    def load(self): return {}
params = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
print(json.dumps(transform(t, params, Loader())))
