package kyc

import "testing"

func TestCountries(t *testing.T) {
	if n := len(countries); n != 250 { // 249 assigned + XK
		t.Errorf("%d country codes; want 250", n)
	}
	for _, c := range []string{"US", "MX", "BR", "DE", "XK", "ZW", "AX"} {
		if !IsCountry(c) {
			t.Errorf("IsCountry(%q) = false", c)
		}
	}
	for _, c := range []string{"", "us", "UK", "EU", "ZZ", "USA", "U"} {
		if IsCountry(c) {
			t.Errorf("IsCountry(%q) = true", c)
		}
	}
}
