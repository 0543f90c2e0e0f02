// Package samtemplate reads what local tools need from template.yaml: the
// tables (keys, indexes, stream, TTL), queues, KMS key aliases and
// generated secrets it makes, and each function's Environment (which
// variable names which resource). The template is the one source of the
// wiring; tools and tests read it from there.
package samtemplate

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"
)

// Table is a DynamoDB table of the template.
type Table struct {
	LogicalID string
	HashKey   string
	// Attributes are the key attributes' types (AttributeDefinitions):
	// name -> S, N or B.
	Attributes map[string]string
	Indexes    []Index // global secondary indexes
	Stream     bool    // has a stream of new images
	TTL        string  // TTL attribute, "" for none
}

// Index is a global secondary index of a table.
type Index struct {
	Name, HashKey, RangeKey string // RangeKey "" for none
	Projection              string // ALL, KEYS_ONLY or INCLUDE
}

// Alias is a KMS alias of the template and the key it names.
type Alias struct {
	LogicalID string
	// Name is AliasName as written: it may hold ${AWS::StackName} (see
	// AliasName).
	Name      string
	TargetKey string // the key's logical id (TargetKeyId: !Ref)
}

// AliasName is the alias's name in a stack named stack.
func (a Alias) AliasName(stack string) string {
	return strings.ReplaceAll(a.Name, "${AWS::StackName}", stack)
}

// Secret is a Secrets Manager secret the template makes, with the value
// Secrets Manager generates for it (GenerateSecretString).
type Secret struct {
	LogicalID string
	// Template is SecretStringTemplate (a JSON object), Key its
	// GenerateStringKey: the generated string goes in Template under Key.
	Template, Key      string
	Length             int  // PasswordLength
	ExcludePunctuation bool // only letters and digits
}

// Value makes a value as Secrets Manager would for s: Template with a
// random string of Length characters under Key (letters and digits, plus
// punctuation unless ExcludePunctuation).
func (s Secret) Value() (string, error) {
	alphabet := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	if !s.ExcludePunctuation {
		alphabet += "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
	}
	if s.Length <= 0 || s.Key == "" {
		return "", fmt.Errorf("secret %s: no GenerateStringKey or PasswordLength", s.LogicalID)
	}
	obj := map[string]any{}
	if s.Template != "" {
		if err := json.Unmarshal([]byte(s.Template), &obj); err != nil {
			return "", fmt.Errorf("secret %s: SecretStringTemplate: %w", s.LogicalID, err)
		}
	}
	b := make([]byte, s.Length)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			return "", err
		}
		b[i] = alphabet[n.Int64()]
	}
	obj[s.Key] = string(b)
	out, err := json.Marshal(obj)
	return string(out), err
}

// Template is a parsed template.
type Template struct {
	Tables  []Table
	Queues  []string // SQS queues, by logical id
	Keys    []string // KMS keys, by logical id
	Aliases []Alias
	Secrets []Secret
	// Resources maps every resource's logical id to its type; Parameters
	// are the parameters' names.
	Resources  map[string]string
	Parameters []string
	// Env maps each function's logical id to its Environment variables:
	// the name of the resource or parameter a variable references (!Ref),
	// or its literal value.
	Env map[string]map[string]string
	// Paths maps each function's logical id to the paths of its Api
	// events, in the template's order.
	Paths map[string][]string
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
	t := &Template{Env: map[string]map[string]string{}, Resources: map[string]string{}, Paths: map[string][]string{}}
	params := child(doc.Content[0], "Parameters")
	for i := 0; params != nil && i+1 < len(params.Content); i += 2 {
		t.Parameters = append(t.Parameters, params.Content[i].Value)
	}
	for i := 0; i+1 < len(resources.Content); i += 2 {
		id, res := resources.Content[i].Value, resources.Content[i+1]
		props := child(res, "Properties")
		typ := scalar(child(res, "Type"))
		t.Resources[id] = typ
		switch typ {
		case "AWS::Serverless::Function":
			env := map[string]string{}
			vars := child(child(props, "Environment"), "Variables")
			for j := 0; vars != nil && j+1 < len(vars.Content); j += 2 {
				env[vars.Content[j].Value] = vars.Content[j+1].Value
			}
			t.Env[id] = env
			events := child(props, "Events")
			for j := 1; events != nil && j < len(events.Content); j += 2 {
				if ev := events.Content[j]; scalar(child(ev, "Type")) == "Api" {
					t.Paths[id] = append(t.Paths[id], scalar(child(child(ev, "Properties"), "Path")))
				}
			}
		case "AWS::DynamoDB::Table":
			tbl := Table{LogicalID: id, Attributes: map[string]string{}}
			tbl.HashKey, _ = keys(child(props, "KeySchema"))
			for _, a := range items(child(props, "AttributeDefinitions")) {
				tbl.Attributes[scalar(child(a, "AttributeName"))] = scalar(child(a, "AttributeType"))
			}
			for _, g := range items(child(props, "GlobalSecondaryIndexes")) {
				ix := Index{Name: scalar(child(g, "IndexName")), Projection: scalar(child(child(g, "Projection"), "ProjectionType"))}
				ix.HashKey, ix.RangeKey = keys(child(g, "KeySchema"))
				tbl.Indexes = append(tbl.Indexes, ix)
			}
			tbl.Stream = child(props, "StreamSpecification") != nil
			if ttl := child(props, "TimeToLiveSpecification"); ttl != nil {
				tbl.TTL = scalar(child(ttl, "AttributeName"))
			}
			t.Tables = append(t.Tables, tbl)
		case "AWS::SQS::Queue":
			t.Queues = append(t.Queues, id)
		case "AWS::KMS::Key":
			t.Keys = append(t.Keys, id)
		case "AWS::KMS::Alias":
			t.Aliases = append(t.Aliases, Alias{LogicalID: id, Name: scalar(child(props, "AliasName")), TargetKey: scalar(child(props, "TargetKeyId"))})
		case "AWS::SecretsManager::Secret":
			gen := child(props, "GenerateSecretString")
			if gen == nil {
				return nil, fmt.Errorf("%s: secret %s has no GenerateSecretString (local tools cannot make its value)", path, id)
			}
			s := Secret{LogicalID: id, Template: scalar(child(gen, "SecretStringTemplate")), Key: scalar(child(gen, "GenerateStringKey")),
				ExcludePunctuation: scalar(child(gen, "ExcludePunctuation")) == "true"}
			if s.Length, err = strconv.Atoi(scalar(child(gen, "PasswordLength"))); err != nil {
				return nil, fmt.Errorf("%s: secret %s: PasswordLength: %w", path, id, err)
			}
			t.Secrets = append(t.Secrets, s)
		}
	}
	return t, nil
}

// keys returns a KeySchema's HASH and RANGE attributes.
func keys(schema *yaml.Node) (hash, rng string) {
	for _, k := range items(schema) {
		switch scalar(child(k, "KeyType")) {
		case "HASH":
			hash = scalar(child(k, "AttributeName"))
		case "RANGE":
			rng = scalar(child(k, "AttributeName"))
		}
	}
	return hash, rng
}

// items are the elements of a YAML sequence node (none for anything else).
func items(n *yaml.Node) []*yaml.Node {
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	return n.Content
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

// Child, Items and Scalar read template.yaml's YAML nodes, for readers of
// what Read does not read (motostack's extras): a mapping's value for a
// key (nil: none), a sequence's elements, a scalar's value ("": none).
func Child(n *yaml.Node, key string) *yaml.Node { return child(n, key) }
func Items(n *yaml.Node) []*yaml.Node           { return items(n) }
func Scalar(n *yaml.Node) string                { return scalar(n) }
