package memstore

import (
	"context"
	"testing"
)

// TestSeededPlatformsHaveTimes: a platform configured at start-up (make
// run's seed) answers GET and an unchanged PATCH /config with createdAt
// and updatedAt, as a configuration set through PATCH does (issue 27: the
// first integration's PATCH answered without them).
func TestSeededPlatformsHaveTimes(t *testing.T) {
	p := NewPlatforms(map[string]string{"platform-demo": "http://127.0.0.1:3000/sandbox/inbox/platform-demo"})
	c, err := p.PlatformConfig(context.Background(), "platform-demo")
	if err != nil || c.CreatedAt.IsZero() || c.UpdatedAt.IsZero() {
		t.Fatalf("seeded platform = %+v, %v; want createdAt and updatedAt", c, err)
	}
}
