package motostack

import (
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v4"
)

// extras is what motostack needs of template.yaml beyond samtemplate's
// reading of it: each table's sort key and stream view, each S3
// bucket's default encryption and public access block, and each SQS
// queue's attributes and dead-letter queue. (samtemplate could read
// these itself; until it does, they are read here.)
type extras struct {
	sortKeys    map[string]string // table logical id -> its RANGE key
	streamViews map[string]string // table logical id -> StreamViewType
	buckets     []bucket
	queues      map[string]queue // queue logical id -> its properties
}

// queue is an AWS::SQS::Queue's properties motostack gives the queue it
// makes.
type queue struct {
	// Attributes are SQS attributes as CreateQueue takes them
	// (VisibilityTimeout, MessageRetentionPeriod, SqsManagedSseEnabled).
	Attributes map[string]string
	// DeadLetter is RedrivePolicy's deadLetterTargetArn (!GetAtt <id>.Arn)
	// as a logical id, MaxReceiveCount its maxReceiveCount ("" and "":
	// none).
	DeadLetter, MaxReceiveCount string
}

// bucket is an AWS::S3::Bucket of the template.
type bucket struct {
	LogicalID string
	// SSEAlgorithm and KeyID are its default encryption: aws:kms and the
	// logical id of its key (KMSMasterKeyID: !GetAtt <key>.Arn or !Ref),
	// or AES256 and "" ("" and "": none declared).
	SSEAlgorithm, KeyID string
	BucketKey           bool
	// BlockPublic: all four public access blocks on.
	BlockPublic bool
	// Expirations are the lifecycle rules' prefixes and their days.
	Expirations map[string]int32
	// AbortMultipartDays is AbortIncompleteMultipartUpload's (0: none).
	AbortMultipartDays int32
}

// readExtras reads path's extras.
func readExtras(path string) (*extras, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	x := &extras{sortKeys: map[string]string{}, streamViews: map[string]string{}, queues: map[string]queue{}}
	if len(doc.Content) == 0 {
		return x, nil
	}
	resources := child(doc.Content[0], "Resources")
	for i := 0; resources != nil && i+1 < len(resources.Content); i += 2 {
		id, res := resources.Content[i].Value, resources.Content[i+1]
		props := child(res, "Properties")
		switch scalar(child(res, "Type")) {
		case "AWS::DynamoDB::Table":
			for _, k := range items(child(props, "KeySchema")) {
				if scalar(child(k, "KeyType")) == "RANGE" {
					x.sortKeys[id] = scalar(child(k, "AttributeName"))
				}
			}
			if v := scalar(child(child(props, "StreamSpecification"), "StreamViewType")); v != "" {
				x.streamViews[id] = v
			}
		case "AWS::S3::Bucket":
			b := bucket{LogicalID: id, Expirations: map[string]int32{}}
			for _, r := range items(child(child(props, "BucketEncryption"), "ServerSideEncryptionConfiguration")) {
				def := child(r, "ServerSideEncryptionByDefault")
				b.SSEAlgorithm = scalar(child(def, "SSEAlgorithm"))
				b.KeyID = keyRef(child(def, "KMSMasterKeyID"))
				b.BucketKey = scalar(child(r, "BucketKeyEnabled")) == "true"
			}
			pab := child(props, "PublicAccessBlockConfiguration")
			b.BlockPublic = pab != nil
			for _, k := range []string{"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"} {
				b.BlockPublic = b.BlockPublic && scalar(child(pab, k)) == "true"
			}
			for _, r := range items(child(child(props, "LifecycleConfiguration"), "Rules")) {
				if scalar(child(r, "Status")) != "Enabled" {
					continue
				}
				var days int32
				if _, err := fmt.Sscan(scalar(child(r, "ExpirationInDays")), &days); err == nil {
					b.Expirations[scalar(child(r, "Prefix"))] = days
				}
				if _, err := fmt.Sscan(scalar(child(child(r, "AbortIncompleteMultipartUpload"), "DaysAfterInitiation")), &days); err == nil {
					b.AbortMultipartDays = days
				}
			}
			x.buckets = append(x.buckets, b)
		case "AWS::SQS::Queue":
			q := queue{Attributes: map[string]string{}}
			for _, k := range []string{"VisibilityTimeout", "MessageRetentionPeriod", "SqsManagedSseEnabled"} {
				if v := scalar(child(props, k)); v != "" {
					q.Attributes[k] = v
				}
			}
			redrive := child(props, "RedrivePolicy")
			q.DeadLetter = keyRef(child(redrive, "deadLetterTargetArn"))
			q.MaxReceiveCount = scalar(child(redrive, "maxReceiveCount"))
			x.queues[id] = q
		}
	}
	return x, nil
}

// keyRef is the logical id a KMSMasterKeyID names: !GetAtt Key.Arn, or
// !Ref Key ("" for anything else).
func keyRef(n *yaml.Node) string {
	if n == nil {
		return ""
	}
	switch n.Tag {
	case "!GetAtt":
		id, _, _ := strings.Cut(n.Value, ".")
		return id
	case "!Ref":
		return n.Value
	}
	return ""
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
