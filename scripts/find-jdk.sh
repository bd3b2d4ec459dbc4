#!/usr/bin/env bash
# Prints the home of a JDK >= 21: $JAVA_HOME if it qualifies, else the newest under /usr/lib/jvm.
# Exits 1 with a one-line explanation when there is none. Used by the Makefile and .ci/run.
set -u
major() { "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | head -n1 | cut -d. -f1; }
ok() { [ -x "$1/bin/javac" ] && [ "$(major "$1")" -ge 21 ] 2>/dev/null; }
if [ -n "${JAVA_HOME:-}" ] && ok "$JAVA_HOME"; then echo "$JAVA_HOME"; exit 0; fi
best=""; best_major=0
for d in /usr/lib/jvm/*; do
  [ -d "$d" ] && [ ! -L "$d" ] || continue
  if ok "$d"; then m=$(major "$d"); [ "$m" -gt "$best_major" ] && best="$d" && best_major=$m; fi
done
if [ -n "$best" ]; then echo "$best"; exit 0; fi
echo "cohort-sync needs a JDK >= 21 (found none in JAVA_HOME or /usr/lib/jvm/*); install one, e.g. 'apt-get install openjdk-21-jdk-headless', or set JAVA_HOME." >&2
exit 1
