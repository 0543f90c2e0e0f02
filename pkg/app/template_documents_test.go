//go:build integration

package app_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"testing"
)

// TestDeployedDocumentFiles: the documents' files. The platform API's role
// may put, get and delete objects under documents/ and incoming/ and list
// the bucket (so a missing key is 404, not 403), nothing else, through a
// policy of its own; DocumentsKey rotates and lets that role make and open
// data keys through S3 alone, the account administering it without any
// cryptographic use; the bucket is private, encrypted by default with the
// key and a bucket key, refuses plain HTTP and any request that names an
// encryption, and lets unfinished direct uploads expire.
func TestDeployedDocumentFiles(t *testing.T) {
	res := translated(t)
	pol, ok := res["PlatformApiDocumentFilesPolicy"]
	if !ok || pol.Type != "AWS::IAM::Policy" {
		t.Fatal("no PlatformApiDocumentFilesPolicy")
	}
	if roles := list(pol.Properties["Roles"]); len(roles) != 1 || resourceName(roles[0]) != "PlatformApiFunctionRole" {
		t.Errorf("the files' policy is attached to %v; want the platform API's role alone", roles)
	}
	got := grants(t, map[string]any{"Policies": []any{pol.Properties}})
	want := []string{
		"s3:DeleteObject ${DocumentsBucket.Arn}/documents/*", "s3:DeleteObject ${DocumentsBucket.Arn}/incoming/*",
		"s3:GetObject ${DocumentsBucket.Arn}/documents/*", "s3:GetObject ${DocumentsBucket.Arn}/incoming/*",
		"s3:PutObject ${DocumentsBucket.Arn}/documents/*", "s3:PutObject ${DocumentsBucket.Arn}/incoming/*",
		"s3:ListBucket DocumentsBucket.Arn",
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("the files' policy grants:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	for name, r := range res {
		// The submission reads documents too (TestDeployedSubmission
		// pins its grants).
		if r.Type != "AWS::IAM::Role" || name == "PlatformApiFunctionRole" || name == "VerificationSubmitFunctionRole" {
			continue
		}
		for _, g := range grants(t, r.Properties) {
			if strings.HasPrefix(g, "s3:") || strings.Contains(g, "DocumentsTable") {
				t.Errorf("%s may %s: only the platform API keeps documents", name, g)
			}
		}
	}
	if fn := res["PlatformApiFunction"]; fn.Type != "AWS::Lambda::Function" {
		t.Fatal("no PlatformApiFunction")
	}

	key := res["DocumentsKey"].Properties
	if key["EnableKeyRotation"] != true || key["KeySpec"] != "SYMMETRIC_DEFAULT" || key["KeyUsage"] != "ENCRYPT_DECRYPT" {
		t.Errorf("documents key: rotation %v, spec %v, usage %v; want a rotating symmetric encryption key",
			key["EnableKeyRotation"], key["KeySpec"], key["KeyUsage"])
	}
	policy, _ := key["KeyPolicy"].(map[string]any)
	users := 0
	for _, s := range list(policy["Statement"]) {
		st, _ := s.(map[string]any)
		principal, _ := st["Principal"].(map[string]any)
		who := resourceName(principal["AWS"])
		if st["Effect"] != "Allow" {
			t.Errorf("statement %v: only Allow statements are expected", st["Sid"])
			continue
		}
		if who == "VerificationSubmitFunctionRole.Arn" {
			continue // it reads the files: TestDeployedSubmission
		}
		if who == "PlatformApiFunctionRole.Arn" {
			users++
			actions := fmt.Sprint(list(st["Action"]))
			if actions != "[kms:GenerateDataKey kms:Decrypt]" {
				t.Errorf("the platform API's role may %s on the documents key; want kms:GenerateDataKey and kms:Decrypt", actions)
			}
			cond, _ := json.Marshal(st["Condition"])
			const wantCond = `{"StringEquals":{"kms:ViaService":{"Fn::Sub":"s3.${AWS::Region}.amazonaws.com"}}}`
			if string(cond) != wantCond {
				t.Errorf("the role's use of the documents key is conditioned on %s; want %s (through S3 only)", cond, wantCond)
			}
			continue
		}
		if who != "arn:${AWS::Partition}:iam::${AWS::AccountId}:root" {
			t.Errorf("documents key policy statement %v grants %s", st["Sid"], who)
		}
		for _, a := range list(st["Action"]) {
			for _, crypto := range kmsCryptoActions {
				if m, _ := path.Match(fmt.Sprint(a), crypto); m || a == "kms:*" {
					t.Errorf("the account may %s with the documents key through %v", crypto, a)
				}
			}
		}
	}
	if users != 1 {
		t.Errorf("%d statements for the platform API's role in the documents key's policy; want 1", users)
	}

	bucket := res["DocumentsBucket"].Properties
	enc, _ := json.Marshal(bucket["BucketEncryption"])
	const wantEnc = `{"ServerSideEncryptionConfiguration":[{"BucketKeyEnabled":true,"ServerSideEncryptionByDefault":` +
		`{"KMSMasterKeyID":{"Fn::GetAtt":["DocumentsKey","Arn"]},"SSEAlgorithm":"aws:kms"}}]}`
	if string(enc) != wantEnc {
		t.Errorf("bucket encryption %s; want %s", enc, wantEnc)
	}
	pab, _ := json.Marshal(bucket["PublicAccessBlockConfiguration"])
	if string(pab) != `{"BlockPublicAcls":true,"BlockPublicPolicy":true,"IgnorePublicAcls":true,"RestrictPublicBuckets":true}` {
		t.Errorf("public access block %s; want all four", pab)
	}
	own, _ := json.Marshal(bucket["OwnershipControls"])
	if string(own) != `{"Rules":[{"ObjectOwnership":"BucketOwnerEnforced"}]}` {
		t.Errorf("ownership controls %s; want BucketOwnerEnforced (no ACLs)", own)
	}
	lc, _ := json.Marshal(bucket["LifecycleConfiguration"])
	for _, want := range []string{`"AbortIncompleteMultipartUpload":{"DaysAfterInitiation":1}`, `"ExpirationInDays":1`, `"Prefix":"incoming/"`} {
		if !strings.Contains(string(lc), want) {
			t.Errorf("lifecycle %s lacks %s", lc, want)
		}
	}
	bp, _ := json.Marshal(res["DocumentsBucketPolicy"].Properties["PolicyDocument"])
	for _, want := range []string{`"aws:SecureTransport":"false"`, `"Null":{"s3:x-amz-server-side-encryption":"false"}`} {
		if !strings.Contains(string(bp), want) {
			t.Errorf("bucket policy %s lacks %s", bp, want)
		}
	}
}

// TestDeployedReceiverMovesVerifications: the receiver may read and
// update verifications (a review moves the current one), nothing more of
// them.
func TestDeployedReceiverMovesVerifications(t *testing.T) {
	var got []string
	for _, g := range grants(t, translated(t)["SumsubWebhookFunctionRole"].Properties) {
		if strings.Contains(g, "Verifications") {
			got = append(got, g)
		}
	}
	if want := []string{"dynamodb:GetItem VerificationsTable.Arn", "dynamodb:UpdateItem VerificationsTable.Arn"}; !slices.Equal(got, want) {
		t.Errorf("the receiver may %v on verifications; want %v", got, want)
	}
}

// TestDeployedUploadsAndTooLarge: multipart bodies (document uploads)
// reach the function as binary, and nothing else does; a body API
// Gateway refuses for its size is 413 in the Grid error shape, not to be
// retried.
func TestDeployedUploadsAndTooLarge(t *testing.T) {
	body, _ := translated(t)["KycApi"].Properties["Body"].(map[string]any)
	if got := fmt.Sprint(body["x-amazon-apigateway-binary-media-types"]); got != "[multipart/form-data]" {
		t.Errorf("binary media types %s; want [multipart/form-data] alone", got)
	}
	responses, _ := body["x-amazon-apigateway-gateway-responses"].(map[string]any)
	raw, _ := json.Marshal(responses["REQUEST_TOO_LARGE"])
	var gr struct {
		StatusCode         string            `json:"statusCode"`
		ResponseParameters map[string]string `json:"responseParameters"`
		ResponseTemplates  map[string]string `json:"responseTemplates"`
	}
	if err := json.Unmarshal(raw, &gr); err != nil {
		t.Fatal(err)
	}
	out := strings.ReplaceAll(gr.ResponseTemplates["application/json"], "$context.requestId", "r-1")
	var e struct {
		Status  int               `json:"status"`
		Code    string            `json:"code"`
		Message string            `json:"message"`
		Details map[string]string `json:"details"`
	}
	if err := json.Unmarshal([]byte(out), &e); err != nil {
		t.Fatalf("REQUEST_TOO_LARGE body %q: %v", out, err)
	}
	if gr.StatusCode != "413" || e.Status != 413 || e.Code != "PAYLOAD_TOO_LARGE" || e.Message == "" || e.Details["requestId"] != "r-1" {
		t.Errorf("REQUEST_TOO_LARGE: %s %s; want 413 PAYLOAD_TOO_LARGE with a message and the request id", gr.StatusCode, out)
	}
	if gr.ResponseParameters["gatewayresponse.header.X-Should-Retry"] != "'false'" {
		t.Errorf("REQUEST_TOO_LARGE headers %v; want X-Should-Retry: false", gr.ResponseParameters)
	}
	// Any method reaches the function on the documents' and
	// verifications' paths (its 405 names the allowed ones).
	paths, _ := body["paths"].(map[string]any)
	for _, p := range []string{"/documents", "/documents/{documentId}", "/verifications", "/verifications/{verificationId}",
		"/document-uploads", "/document-uploads/{uploadId}/complete"} {
		item, _ := paths[p].(map[string]any)
		if _, ok := item["x-amazon-apigateway-any-method"]; !ok || len(item) != 1 {
			t.Errorf("%s: methods %v, want any method to reach the function", p, slices.Collect(maps.Keys(item)))
		}
	}
}
