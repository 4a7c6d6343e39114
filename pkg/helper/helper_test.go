package helper

import (
	"testing"
	"time"
)

func TestHours(t *testing.T) {
	for d, want := range map[time.Duration]string{
		8 * time.Hour:                  "8h",
		8*time.Hour - 20*time.Second:   "8h",
		7*time.Hour + 42*time.Minute:   "7h42m",
		5*time.Minute + 10*time.Second: "5m",
		0:                              "0m",
	} {
		if got := Hours(d); got != want {
			t.Errorf("Hours(%v) = %q, want %q", d, got, want)
		}
	}
}
