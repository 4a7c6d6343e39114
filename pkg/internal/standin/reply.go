package standin

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"net/http"
	"time"
)

// WriteJSON answers v in JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// Seconds rounds up, so that a sub-second lifetime set by a test is not
// sent as 0, which clients read as "never expires".
func Seconds(d time.Duration) int64 {
	return int64(math.Ceil(d.Seconds()))
}

// RandomString uses math/rand/v2's global generator: ChaCha8 seeded from
// the operating system, unpredictable enough for a stand-in's tokens.
func RandomString(alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rand.IntN(len(alphabet))]
	}
	return string(b)
}

// RandomBytes is RandomString's for bytes.
func RandomBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rand.Uint32())
	}
	return b
}
