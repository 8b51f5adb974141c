#!/usr/bin/env bash
# The package list must be the same in scripts/deps.sh, .ci/run and README.md.
set -euo pipefail
root="$1"
from_deps=$(sed -n '/^PACKAGES=(/,/^)/p' "$root/scripts/deps.sh" | grep -v PACKAGES | tr -d ')' | tr ' ' '\n' | grep -v '^$' | sort)
from_ci=$(sed -n '/apt-get install -y/,/^[^ ]/p' "$root/.ci/run" | grep -v 'apt-get\|make test' | tr -d '\\' | tr ' ' '\n' | grep -v '^$' | sort)
from_readme=$(sed -n '/<!-- deps -->/,/<!-- \/deps -->/p' "$root/README.md" | grep -o '`[a-z0-9.+-]*`' | tr -d '`' | sort)
if [ "$from_deps" != "$from_ci" ] || [ "$from_deps" != "$from_readme" ]; then
  echo "package lists differ:"; diff <(echo "$from_deps") <(echo "$from_ci") || true
  diff <(echo "$from_deps") <(echo "$from_readme") || true
  exit 1
fi
echo "package lists agree: $(echo $from_deps | wc -w) packages"
