package main

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestClip(t *testing.T) {
	b := Clip()
	if len(b) > 300<<10 {
		t.Fatalf("clip is %d bytes, want a few hundred KB at most", len(b))
	}
	if string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" || string(b[12:16]) != "fmt " || string(b[36:40]) != "data" {
		t.Fatalf("not a canonical WAV header: %q", b[:44])
	}
	if got := binary.LittleEndian.Uint32(b[4:8]); int(got) != len(b)-8 {
		t.Errorf("RIFF size %d, want %d", got, len(b)-8)
	}
	rate := binary.LittleEndian.Uint32(b[24:28])
	size := binary.LittleEndian.Uint32(b[40:44])
	if rate != sampleRate || int(size) != len(b)-44 || float64(size)/float64(rate) != seconds {
		t.Errorf("rate %d, data %d bytes: want %d s at %d Hz", rate, size, seconds, sampleRate)
	}
	// Every second starts with a tone and ends in silence.
	for s := 0; s < seconds; s++ {
		tone := b[44+s*sampleRate+400 : 44+s*sampleRate+1600]
		quiet := b[44+s*sampleRate+2400 : 44+(s+1)*sampleRate]
		if bytes.Count(tone, []byte{128}) == len(tone) {
			t.Fatalf("second %d has no tone", s)
		}
		if bytes.Count(quiet, []byte{128}) != len(quiet) {
			t.Fatalf("second %d is not silent after its tone", s)
		}
	}
	if !bytes.Equal(b, Clip()) {
		t.Error("two runs made different clips")
	}
}

func TestWriteOnlyWhenChanged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "media", "demo.wav")
	if err := write(path, []byte("one")); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(path)
	old := st.ModTime().Add(-time.Hour)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	if err := write(path, []byte("one")); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); !st.ModTime().Equal(old) {
		t.Error("an unchanged clip was rewritten")
	}
	if err := write(path, []byte("two")); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != "two" {
		t.Errorf("file holds %q, want the new clip", got)
	}
}
