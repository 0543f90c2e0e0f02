package motostack

import (
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/grid-kyc/kyc-link/internal/samtemplate"
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
	resources := samtemplate.Child(doc.Content[0], "Resources")
	for i := 0; resources != nil && i+1 < len(resources.Content); i += 2 {
		id, res := resources.Content[i].Value, resources.Content[i+1]
		props := samtemplate.Child(res, "Properties")
		switch samtemplate.Scalar(samtemplate.Child(res, "Type")) {
		case "AWS::DynamoDB::Table":
			for _, k := range samtemplate.Items(samtemplate.Child(props, "KeySchema")) {
				if samtemplate.Scalar(samtemplate.Child(k, "KeyType")) == "RANGE" {
					x.sortKeys[id] = samtemplate.Scalar(samtemplate.Child(k, "AttributeName"))
				}
			}
			if v := samtemplate.Scalar(samtemplate.Child(samtemplate.Child(props, "StreamSpecification"), "StreamViewType")); v != "" {
				x.streamViews[id] = v
			}
		case "AWS::S3::Bucket":
			b := bucket{LogicalID: id, Expirations: map[string]int32{}}
			for _, r := range samtemplate.Items(samtemplate.Child(samtemplate.Child(props, "BucketEncryption"), "ServerSideEncryptionConfiguration")) {
				def := samtemplate.Child(r, "ServerSideEncryptionByDefault")
				b.SSEAlgorithm = samtemplate.Scalar(samtemplate.Child(def, "SSEAlgorithm"))
				b.KeyID = keyRef(samtemplate.Child(def, "KMSMasterKeyID"))
				b.BucketKey = samtemplate.Scalar(samtemplate.Child(r, "BucketKeyEnabled")) == "true"
			}
			pab := samtemplate.Child(props, "PublicAccessBlockConfiguration")
			b.BlockPublic = pab != nil
			for _, k := range []string{"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"} {
				b.BlockPublic = b.BlockPublic && samtemplate.Scalar(samtemplate.Child(pab, k)) == "true"
			}
			for _, r := range samtemplate.Items(samtemplate.Child(samtemplate.Child(props, "LifecycleConfiguration"), "Rules")) {
				if samtemplate.Scalar(samtemplate.Child(r, "Status")) != "Enabled" {
					continue
				}
				var days int32
				if _, err := fmt.Sscan(samtemplate.Scalar(samtemplate.Child(r, "ExpirationInDays")), &days); err == nil {
					b.Expirations[samtemplate.Scalar(samtemplate.Child(r, "Prefix"))] = days
				}
				if _, err := fmt.Sscan(samtemplate.Scalar(samtemplate.Child(samtemplate.Child(r, "AbortIncompleteMultipartUpload"), "DaysAfterInitiation")), &days); err == nil {
					b.AbortMultipartDays = days
				}
			}
			x.buckets = append(x.buckets, b)
		case "AWS::SQS::Queue":
			q := queue{Attributes: map[string]string{}}
			for _, k := range []string{"VisibilityTimeout", "MessageRetentionPeriod", "SqsManagedSseEnabled"} {
				if v := samtemplate.Scalar(samtemplate.Child(props, k)); v != "" {
					q.Attributes[k] = v
				}
			}
			redrive := samtemplate.Child(props, "RedrivePolicy")
			q.DeadLetter = keyRef(samtemplate.Child(redrive, "deadLetterTargetArn"))
			q.MaxReceiveCount = samtemplate.Scalar(samtemplate.Child(redrive, "maxReceiveCount"))
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
