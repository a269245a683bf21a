// Command democlip writes the room player's demo clip: a 30-second WAV
// (8 kHz, 8-bit mono, about 240 KB) that counts the seconds with a short
// tone each, on a pitch that climbs through a scale, so that two players
// out of step are heard at once. Browsers play it in a <video> element,
// with a duration and a seekable currentTime, which is all the shared
// player needs to try it out without a network.
//
//	go run ./cmd/democlip -o static/media/demo.wav
//
// The output is the same on every run; the file is only rewritten when it
// differs, so builds do not see a change.
package main

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
)

const (
	sampleRate = 8000
	seconds    = 30
)

func main() {
	out := flag.String("o", "static/media/demo.wav", "where to write the clip")
	flag.Parse()
	if err := write(*out, Clip()); err != nil {
		fmt.Fprintln(os.Stderr, "democlip:", err)
		os.Exit(1)
	}
}

func write(path string, b []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, b) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Clip returns the WAV file.
func Clip() []byte {
	// A major scale, one note per second, starting again every 8 s.
	scale := []float64{261.63, 293.66, 329.63, 349.23, 392.00, 440.00, 493.88, 523.25}
	n := sampleRate * seconds
	data := make([]byte, n)
	for i := range data {
		sec := i / sampleRate
		t := float64(i%sampleRate) / sampleRate // within the second
		v := 0.0
		if t < 0.25 {
			// A 250 ms tone with 10 ms fades, so it clicks neither in nor out.
			env := math.Min(1, math.Min(t, 0.25-t)/0.01)
			f := scale[sec%len(scale)]
			v = 0.6 * env * math.Sin(2*math.Pi*f*t)
			if sec%10 == 0 {
				// Every tenth second an octave above too, to count by.
				v += 0.25 * env * math.Sin(4*math.Pi*f*t)
			}
		}
		data[i] = byte(128 + math.Round(v*127))
	}

	var b bytes.Buffer
	le := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	le(uint32(36 + len(data)))
	b.WriteString("WAVE")
	b.WriteString("fmt ")
	le(uint32(16))         // size of the fmt chunk
	le(uint16(1))          // PCM
	le(uint16(1))          // mono
	le(uint32(sampleRate)) // samples per second
	le(uint32(sampleRate)) // bytes per second: 1 byte per sample
	le(uint16(1))          // block align
	le(uint16(8))          // bits per sample
	b.WriteString("data")
	le(uint32(len(data)))
	b.Write(data)
	return b.Bytes()
}
