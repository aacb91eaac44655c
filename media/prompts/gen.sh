#!/bin/sh
# Regenerates the built-in prompts, all of them or the ones named as
# arguments (./gen.sh digit-0 from). Needs Debian's espeak-ng and sox:
#   apt-get install -y espeak-ng sox
# espeak-ng writes 22,050 Hz 16-bit mono; sox resamples to 8 kHz mono and
# stores G.711 µ-law (8 bits a sample, half the size of PCM16), which is what
# phones receive anyway. sox -R seeds its dither with a fixed number, so the
# output is deterministic for a given espeak-ng and sox build.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
only=" $* "
say() { # name text [sox effect...]
	name=$1 text=$2
	shift 2
	case $only in
	"  " | *" $name "*) ;;
	*) return 0 ;;
	esac
	espeak-ng -v en-us -s 150 -w "$tmp/$name.wav" "$text"
	sox -R "$tmp/$name.wav" -r 8000 -c 1 -e u-law -b 8 "$name.wav" "$@"
}
# part: a piece of the screening announcement, played back to back with the
# others: espeak-ng's trailing silence (about 0.4 s) is cut to a short gap.
part() { # name text gap-in-seconds
	say "$1" "$2" reverse silence 1 0.01 0.1% reverse pad 0 "$3"
}
say welcome "Welcome. For sales press 1. To dial an extension, enter it now."
say invalid "That is not a valid option."
say goodbye "Goodbye."
say screening "You have a call. Press 1 to accept."
part you-have-a-call "You have a call" 0.2
part call-for "Call for" 0.1
part from "from" 0.1
part press-1 "Press 1 to accept, or hang up to decline." 0.2
for d in 0:zero 1:one 2:two 3:three 4:four 5:five 6:six 7:seven 8:eight 9:nine; do
	part "digit-${d%%:*}" "${d#*:}" 0.1
done
# Voicemail (apps/voicemail.go, apps/retrieval.go).
part vm-person-at-extension "The person at extension" 0.1
say vm-not-available "is not available. Please leave a message after the tone." reverse silence 1 0.01 0.1% reverse pad 0 0.2
say vm-unavailable "The person you are calling is not available. Please leave a message after the tone." reverse silence 1 0.01 0.1% reverse pad 0 0.2
say vm-mailbox-full "Sorry, this mailbox is full and cannot take new messages."
say vm-saved "Your message has been saved."
say vm-enter-mailbox "Please enter the mailbox number, then press pound."
say vm-enter-pin "Please enter your PIN, then press pound."
say vm-wrong-pin "That PIN is not correct."
part vm-you-have "You have" 0.1
part vm-new-messages "new messages." 0.2
say vm-menu "Press 1 to play, 7 to delete, 9 to save, pound for the next message, 0 to record your greeting, star to exit."
say vm-no-more "No more messages."
say vm-deleted "Message deleted."
say vm-record-greeting "Record your greeting after the tone, then press pound."
say vm-greeting-saved "Your greeting has been saved."
