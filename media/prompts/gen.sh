#!/bin/sh
# Regenerates the built-in prompts. Needs Debian's espeak-ng and sox:
#   apt-get install -y espeak-ng sox
# espeak-ng writes 22,050 Hz 16-bit mono; sox resamples to 8 kHz mono and
# stores G.711 µ-law (8 bits a sample, half the size of PCM16), which is what
# phones receive anyway. Output is deterministic for a given espeak-ng build.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
say() { # name text
	espeak-ng -v en-us -s 150 -w "$tmp/$1.wav" "$2"
	sox "$tmp/$1.wav" -r 8000 -c 1 -e u-law -b 8 "$1.wav"
}
say welcome "Welcome. For sales press 1. To dial an extension, enter it now."
say invalid "That is not a valid option."
say goodbye "Goodbye."
say screening "You have a call. Press 1 to accept."
