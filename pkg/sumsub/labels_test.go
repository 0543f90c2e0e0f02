package sumsub

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestProblems(t *testing.T) {
	for _, tc := range []struct {
		labels, want []string
	}{
		{[]string{"LOW_QUALITY"}, []string{"POOR_QUALITY_DOCUMENT"}},
		{[]string{"FORGERY", "GRAPHIC_EDITOR", "EXPIRATION_DATE"}, []string{"SUSPECTED_FRAUD_DOCUMENT", "EXPIRED_DOCUMENT"}},
		{[]string{"SOMETHING_NEW"}, nil},
		{nil, nil},
	} {
		if diff := cmp.Diff(tc.want, Problems(tc.labels)); diff != "" {
			t.Errorf("Problems(%v) (-want +got):\n%s", tc.labels, diff)
		}
	}
}
