// Package samtemplate reads what local tools need from template.yaml: the
// tables and queues it makes, and each function's Environment (which
// variable names which resource). The template is the one source of the
// wiring; tools and tests read it from there.
package samtemplate

import (
	"fmt"
	"os"

	"go.yaml.in/yaml/v4"
)

// Table is a DynamoDB table of the template.
type Table struct {
	LogicalID string
	HashKey   string
	Stream    bool   // has a stream of new images
	TTL       string // TTL attribute, "" for none
}

// Template is a parsed template.
type Template struct {
	Tables []Table
	Queues []string // SQS queues, by logical id
	// Env maps each function's logical id to its Environment variables:
	// the name of the resource or parameter a variable references (!Ref),
	// or its literal value.
	Env map[string]map[string]string
}

// Load parses the template at path.
func Load(path string) (*Template, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s: empty", path)
	}
	resources := child(doc.Content[0], "Resources")
	if resources == nil {
		return nil, fmt.Errorf("%s: no Resources", path)
	}
	t := &Template{Env: map[string]map[string]string{}}
	for i := 0; i+1 < len(resources.Content); i += 2 {
		id, res := resources.Content[i].Value, resources.Content[i+1]
		props := child(res, "Properties")
		switch scalar(child(res, "Type")) {
		case "AWS::Serverless::Function":
			env := map[string]string{}
			vars := child(child(props, "Environment"), "Variables")
			for j := 0; vars != nil && j+1 < len(vars.Content); j += 2 {
				env[vars.Content[j].Value] = vars.Content[j+1].Value
			}
			t.Env[id] = env
		case "AWS::DynamoDB::Table":
			tbl := Table{LogicalID: id}
			keys := child(props, "KeySchema")
			for j := 0; keys != nil && j < len(keys.Content); j++ {
				if scalar(child(keys.Content[j], "KeyType")) == "HASH" {
					tbl.HashKey = scalar(child(keys.Content[j], "AttributeName"))
				}
			}
			tbl.Stream = child(props, "StreamSpecification") != nil
			if ttl := child(props, "TimeToLiveSpecification"); ttl != nil {
				tbl.TTL = scalar(child(ttl, "AttributeName"))
			}
			t.Tables = append(t.Tables, tbl)
		case "AWS::SQS::Queue":
			t.Queues = append(t.Queues, id)
		}
	}
	return t, nil
}

// child returns the value of key in a YAML mapping node, or nil.
func child(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func scalar(n *yaml.Node) string {
	if n == nil {
		return ""
	}
	return n.Value
}
