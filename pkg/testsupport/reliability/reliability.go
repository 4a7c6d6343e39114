// Package reliability lets a test record what was required of one
// reliability case and what was measured, as one machine-readable line in
// the verbose test log:
//
//	RELIABILITY<TAB>area<TAB>case<TAB>required<TAB>measured<TAB>PASS|FAIL|SKIP
//
// scripts/reliability.sh collects these lines into docs/reliability.md,
// so that the document always says what the tests last observed.
package reliability

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// Prefix starts every recorded line.
const Prefix = "RELIABILITY"

// Case is one row of the reliability table.
type Case struct {
	area, name, required string

	mu       sync.Mutex
	measured []string
	clean    func(string) string
}

// Record starts a row for the running test. The line is logged when the
// test ends, with PASS, FAIL or SKIP as the test ended, so a row can never
// claim a pass the test did not have.
func Record(t testing.TB, area, name, required string) *Case {
	c := &Case{area: area, name: name, required: required}
	t.Cleanup(func() {
		result := "PASS"
		switch {
		case t.Skipped():
			result = "SKIP"
		case t.Failed():
			result = "FAIL"
		}
		c.mu.Lock()
		measured := strings.Join(c.measured, "; ")
		c.mu.Unlock()
		if measured == "" {
			measured = "-"
		}
		t.Log(strings.Join([]string{Prefix, field(c.area), field(c.name), field(c.required), field(measured), result}, "\t"))
	})
	return c
}

// Clean sets a function applied to every measurement, e.g. to replace a
// random port or a temporary directory with a stable name.
func (c *Case) Clean(f func(string) string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clean = f
}

// Measured adds one observed fact to the row, in the order observed.
func (c *Case) Measured(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.clean != nil {
		s = c.clean(s)
	}
	c.measured = append(c.measured, s)
}

// field keeps a value on one line and inside its column.
func field(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '\t' || r == '\n' || r == '\r' }), " ")
}
