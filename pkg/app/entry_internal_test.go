package app

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/grid-kyc/kyc-link/pkg/httpapi"
)

// TestEntryServes: the functions (and so, through httpapi's table, the
// routes) each HTTP entry serves, in the order Build builds their parts.
func TestEntryServes(t *testing.T) {
	const (
		link     = httpapi.LinkFunction
		platform = httpapi.PlatformFunction
		receiver = httpapi.ReceiverFunction
		pages    = httpapi.SandboxFunction
		inbox    = httpapi.InboxFunction
	)
	for _, tc := range []struct {
		name     string
		e        Entry
		provider string
		want     []httpapi.Function
	}{
		{"link, sumsub", LinkFunction, ProviderSumsub, []httpapi.Function{link}},
		{"link, sandbox", LinkFunction, ProviderSandbox, []httpapi.Function{pages, link}},
		{"platform", PlatformFunction, ProviderSandbox, []httpapi.Function{platform}},
		{"receiver", ReceiverFunction, ProviderSumsub, []httpapi.Function{receiver}},
		{"all in one, sumsub", AllInOne, ProviderSumsub, []httpapi.Function{link, receiver, platform}},
		{"all in one, sandbox", AllInOne, ProviderSandbox, []httpapi.Function{inbox, pages, link, receiver, platform}},
		{"relay", RelayFunction, ProviderSumsub, nil},
		{"delivery", DeliveryFunction, ProviderSumsub, nil},
	} {
		if diff := cmp.Diff(tc.want, tc.e.serves(tc.provider)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}
