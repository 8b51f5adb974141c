#!/bin/sh
# scripts/help2man.sh BINARY NAME SECTION OUT WHAT: a man page made from BINARY --help and
# --version, WHAT its one-line summary (the build runs it: the pages never drift from the
# programs).
set -eu
bin=$1 name=$2 sec=$3 out=$4 what=$5
ver=$("$bin" --version | awk '{print $2}')
"$bin" --help > "$out.help"
{
  printf '.TH %s %s "" "%s %s" "User Commands"\n' \
    "$(echo "$name" | tr '[:lower:]' '[:upper:]')" "$sec" "$name" "$ver"
  printf '.SH NAME\n%s \\- %s\n' "$name" "$what"
  printf '.SH SYNOPSIS\n.nf\n'
  awk '/^$/ {exit} {sub(/^usage: /, ""); sub(/^ +/, ""); print}' "$out.help" |
    sed -e 's/\\/\\e/g' -e 's/^[.'"'"']/\\\&&/'
  printf '.fi\n.SH DESCRIPTION\n.nf\n'
  awk 'f {print} /^$/ {f = 1}' "$out.help" | sed -e 's/\\/\\e/g' -e 's/^[.'"'"']/\\\&&/'
  printf '.fi\n.SH SEE ALSO\nThe README and docs/ in /usr/share/doc/zerobus-station.\n'
} > "$out"
rm -f "$out.help"
