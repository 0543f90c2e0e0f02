package sumsub

import (
	"testing"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

func TestAlpha3(t *testing.T) {
	for a2, want := range map[string]string{"US": "USA", "DE": "DEU", "GB": "GBR", "XK": "XKX", "ZW": "ZWE", "AD": "AND", "": "", "U": "", "SA": "SAU", "AS": "ASM", "ZZ": ""} {
		if got := Alpha3(a2); got != want {
			t.Errorf("Alpha3(%q) = %q; want %q", a2, got, want)
		}
	}
	// Every country a customer may have has one.
	for _, a2 := range kyc.Countries() {
		if len(Alpha3(a2)) != 3 {
			t.Errorf("Alpha3(%q) = %q", a2, Alpha3(a2))
		}
	}
}
