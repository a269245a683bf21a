package chat_test

import (
	"strings"
	"testing"

	"github.com/socketio-go/chatserver/chat"
)

func TestValidateName(t *testing.T) {
	tests := []struct {
		in, want string // want "" means invalid
	}{
		{"alice", "alice"},
		{"Alice_Smith-2", "Alice_Smith-2"},
		{"a", "a"},
		{"_", "_"},
		{"-", "-"},
		{"007", "007"},
		{"  bob  ", "bob"},
		{"\tbob\n", "bob"},
		{strings.Repeat("x", 24), strings.Repeat("x", 24)},
		{"  " + strings.Repeat("x", 24) + "  ", strings.Repeat("x", 24)},
		{strings.Repeat("x", 25), ""},
		{"", ""},
		{"   ", ""},
		{"al ice", ""},
		{"alice!", ""},
		{"alice.b", ""},
		{"al@ice", ""},
		{"<img src=x onerror=alert(1)>", ""},
		{"<script>", ""},
		{"a'b", ""},
		{`a"b`, ""},
		{"a\x00b", ""},
		{"a\nb", ""},
		// Look-alikes: Cyrillic а, Greek ο, full-width ａ, a zero-width
		// space and a combining accent must not pass as plain names.
		{"\u0430lice", ""},
		{"b\u03bfb", ""},
		{"\uff41lice", ""},
		{"alice\u200b", ""},
		{"e\u0301", ""},
		{"Zoë", ""},
		{"😀", ""},
		{"\xff", ""},
	}
	for _, tt := range tests {
		got, err := chat.ValidateName(tt.in)
		if tt.want == "" {
			if err != chat.ErrNameInvalid {
				t.Errorf("ValidateName(%q) = %q, %v; want name_invalid", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ValidateName(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestValidateRoom(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"general", "general"},
		{"room-1", "room-1"},
		{"0", "0"},
		{" lobby ", "lobby"},
		{strings.Repeat("r", 32), strings.Repeat("r", 32)},
		{strings.Repeat("r", 33), ""},
		{"", ""},
		{"  ", ""},
		{"General", ""},
		{"room_1", ""},
		{"room 1", ""},
		{"a/b", ""},
		{"../etc", ""},
		{"room.x", ""},
		{"r\u043em", ""},
		{"<b>", ""},
	}
	for _, tt := range tests {
		got, err := chat.ValidateRoom(tt.in)
		if tt.want == "" {
			if err != chat.ErrRoomInvalid {
				t.Errorf("ValidateRoom(%q) = %q, %v; want room_invalid", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ValidateRoom(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestValidateText(t *testing.T) {
	max := chat.MaxTextLen
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"plain", "hello", "hello", true},
		{"trimmed", "  hello \n", "hello", true},
		{"inner whitespace kept", " a\n\nb  c ", "a\n\nb  c", true},
		{"markup is just text", "<img src=x onerror=alert(1)>", "<img src=x onerror=alert(1)>", true},
		{"one rune", "x", "x", true},
		{"empty", "", "", false},
		{"only spaces", " \t\r\n ", "", false},
		{"ascii at limit", strings.Repeat("a", max), strings.Repeat("a", max), true},
		{"ascii over limit", strings.Repeat("a", max+1), "", false},
		{"limit after trim", "  " + strings.Repeat("a", max) + "  ", strings.Repeat("a", max), true},
		// Counted in runes: 2000 two-byte or four-byte runes are fine even
		// though they are 4000 or 8000 bytes.
		{"2-byte runes at limit", strings.Repeat("é", max), strings.Repeat("é", max), true},
		{"2-byte runes over limit", strings.Repeat("é", max+1), "", false},
		{"emoji at limit", strings.Repeat("🎉", max), strings.Repeat("🎉", max), true},
		{"emoji over limit", strings.Repeat("🎉", max+1), "", false},
		{"huge", strings.Repeat("a", 1<<20), "", false},
		{"invalid utf-8", "ab\xffcd", "", false},
		{"truncated utf-8", "ab\xe2\x82", "", false},
	}
	for _, tt := range tests {
		got, err := chat.ValidateText(tt.in)
		if !tt.ok {
			if err != chat.ErrTextInvalid {
				t.Errorf("%s: got %v, want text_invalid", tt.name, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: got %q (len %d), %v", tt.name, got, len(got), err)
		}
	}
}

func BenchmarkValidateName(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := chat.ValidateName(" Alice_Smith-2024 "); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidateText(b *testing.B) {
	text := strings.Repeat("Hello, wörld! ", 20)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := chat.ValidateText(text); err != nil {
			b.Fatal(err)
		}
	}
}
