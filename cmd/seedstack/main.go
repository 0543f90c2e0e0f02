// Command seedstack (make seed-stack STACK=…) puts a first platform, a
// customer and a new API token into a deployed stack: it reads the table
// names and the tokens secret from the stack (outputs and parameters), so
// a newcomer can call the API minutes after sam deploy. The token's secret
// is printed once; only its digest is stored.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/google/uuid"

	"github.com/grid-kyc/kyc-link/pkg/auth"
)

// input is what to put into the stack.
type input struct {
	Platform, Customer, CustomerType, WebhookURL string
}

// names are the stack's resources seed writes to.
type names struct {
	CustomersTable, PlatformsTable, TokensSecret string
}

func main() {
	stack := flag.String("stack", "", "the deployed stack's name (required)")
	var in input
	flag.StringVar(&in.Platform, "platform", "platform-1", "platform id")
	flag.StringVar(&in.Customer, "customer", "", "customer id (default: a new Customer:<uuid>)")
	flag.StringVar(&in.CustomerType, "type", "INDIVIDUAL", "INDIVIDUAL or BUSINESS")
	flag.StringVar(&in.WebhookURL, "webhook-url", "", "the platform's https webhook URL (optional)")
	flag.Parse()
	if *stack == "" {
		fmt.Fprintln(os.Stderr, "usage: seedstack -stack <name> [-platform id] [-customer id] [-type INDIVIDUAL|BUSINESS] [-webhook-url https://…]")
		os.Exit(2)
	}
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err == nil && cfg.Region == "" {
		err = fmt.Errorf("AWS_REGION is not set")
	}
	var n names
	if err == nil {
		n, err = stackNames(ctx, cloudformation.NewFromConfig(cfg), *stack)
	}
	if err == nil {
		err = seed(ctx, dynamodb.NewFromConfig(cfg), secretsmanager.NewFromConfig(cfg), n, in, os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "seedstack:", err)
		os.Exit(1)
	}
}

// stackNames reads the tables from the stack's outputs and the tokens
// secret from its parameters.
func stackNames(ctx context.Context, cf *cloudformation.Client, stack string) (names, error) {
	out, err := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(stack)})
	if err != nil || len(out.Stacks) == 0 {
		return names{}, fmt.Errorf("stack %s: %v", stack, err)
	}
	var n names
	for _, o := range out.Stacks[0].Outputs {
		switch aws.ToString(o.OutputKey) {
		case "CustomersTableName":
			n.CustomersTable = aws.ToString(o.OutputValue)
		case "PlatformsTableName":
			n.PlatformsTable = aws.ToString(o.OutputValue)
		}
	}
	for _, p := range out.Stacks[0].Parameters {
		if aws.ToString(p.ParameterKey) == "ApiTokensSecretArn" {
			n.TokensSecret = aws.ToString(p.ParameterValue)
		}
	}
	if n.CustomersTable == "" || n.PlatformsTable == "" || n.TokensSecret == "" {
		return names{}, fmt.Errorf("stack %s lacks CustomersTableName, PlatformsTableName or ApiTokensSecretArn", stack)
	}
	return n, nil
}

type itemAPI interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
}

type secretAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	PutSecretValue(ctx context.Context, in *secretsmanager.PutSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
}

// seed writes the platform, the customer and a new token, and prints the
// token's secret once and a request to try.
func seed(ctx context.Context, db itemAPI, sm secretAPI, n names, in input, w interface{ Write([]byte) (int, error) }) error {
	if in.Customer == "" {
		in.Customer = "Customer:" + uuid.Must(uuid.NewV7()).String()
	}
	now := time.Now().UTC().Format(time.RFC3339)
	S := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	platform := map[string]types.AttributeValue{"id": S(in.Platform)}
	if in.WebhookURL != "" {
		platform["webhookUrl"] = S(in.WebhookURL)
	}
	if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(n.PlatformsTable), Item: platform}); err != nil {
		return fmt.Errorf("platform: %w", err)
	}
	_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(n.CustomersTable), Item: map[string]types.AttributeValue{
		"id": S(in.Customer), "platformId": S(in.Platform), "customerType": S(in.CustomerType),
		"kycStatus": S("UNVERIFIED"), "createdAt": S(now), "updatedAt": S(now),
	}})
	if err != nil {
		return fmt.Errorf("customer: %w", err)
	}
	current, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(n.TokensSecret)})
	if err != nil {
		return fmt.Errorf("tokens secret: %w", err)
	}
	token, secret := auth.NewToken(in.Platform)
	updated, err := auth.AddToken(aws.ToString(current.SecretString), token)
	if err != nil {
		return err
	}
	if _, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(n.TokensSecret), SecretString: aws.String(updated)}); err != nil {
		return fmt.Errorf("tokens secret: %w", err)
	}
	fmt.Fprintf(w, "platform %s, customer %s (%s)\ntoken id:      %s\nclient secret: %s   (shown once; only its digest is stored)\n\n"+
		"Try (the token works within seconds):\n  curl -sS -X POST -u '%s:%s' -H 'Content-Type: application/json' -d '{\"redirectUri\":\"https://app.example.com/done\"}' \"$API_URL/customers/%s/kyc-link\"\n",
		in.Platform, in.Customer, in.CustomerType, token.ID, secret, token.ID, secret, in.Customer)
	return nil
}
