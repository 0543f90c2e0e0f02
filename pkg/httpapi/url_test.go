package httpapi_test

import "net/url"

func mustURL(path string) *url.URL {
	u, err := url.Parse("http://api.test" + path)
	if err != nil {
		// Some test paths are deliberately not valid URLs; keep them raw.
		return &url.URL{Scheme: "http", Host: "api.test", Path: path, RawPath: path}
	}
	return u
}
