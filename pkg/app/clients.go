package app

// Each Lambda function links only the AWS clients its own routes use: the
// Makefile's build-<Function> targets (what sam build runs) add one build
// tag naming the function, and the aws_*.go files that only other
// functions need are left out of that build, replaced by their *_none.go
// counterparts, which the function never calls (Build builds only its own
// entry; an entry that needs a client a build lacks stops at start).
//
//	tag              KMS      SES, SNS  S3  SQS  Streams (local poller)  make check
//	lambda_link       -          -       -   -      -                      -
//	lambda_platform   Encrypt    ✓       ✓   -      -                      -
//	lambda_receiver   -          -       -   -      -                      -
//	lambda_relay      -          -       -   ✓      -                      -
//	lambda_delivery   -          -       -   ✓      -                      -
//	lambda_submit     Decrypt    -       ✓   ✓      -                      -
//	(none: local)     ✓          ✓       ✓   ✓      ✓                      ✓
//
// The platform function seals identifiers and tax ids (aws_kms.go), the
// submission function opens them for the provider (aws_kmsopen.go): each
// build has only its half. DynamoDB and Secrets Manager are in every
// build. TestLambdaBuilds holds each build to its row.
