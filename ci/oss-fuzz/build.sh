#!/bin/bash -eu
# OSS-Fuzz / ClusterFuzzLite build script for baton's fuzz targets.
#
#   ci/oss-fuzz/build.sh            (run from anywhere; builds into $OUT)
#
# Uses the services' environment: $CC, $CFLAGS (sanitizer and coverage
# flags), $CXX and $CXXFLAGS for the link, $LIB_FUZZING_ENGINE (libFuzzer,
# AFL++ or honggfuzz driver), $OUT.  Writes, per target T in state frame
# manifest main_args spec: $OUT/fuzz_T, $OUT/fuzz_T_seed_corpus.zip (corpus/T/
# and corpus/regress/T/), $OUT/fuzz_T.dict and $OUT/fuzz_T.options.
#
# jansson: when its source is in $JANSSON_SRC (default: $SRC/jansson, then
# build/jansson-src from ci/fetch-jansson-src) it is compiled with the
# fuzzing flags, for coverage inside it; otherwise (or with JANSSON_SRC=none)
# the static libjansson.a of libjansson-dev is linked.  libfiu is linked statically too (the runner
# image has neither library).  A ClusterFuzzLite Dockerfile needs:
#   RUN apt-get update && apt-get install -y libjansson-dev libfiu-dev zip
# Outside the services, defaults make it runnable by hand:
#   CC=clang-14 CXX=clang++-14 ci/oss-fuzz/build.sh   (into build/oss-fuzz/out)
case "${1:-}" in -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
: "${CC:=clang}" "${CXX:=clang++}"
: "${CFLAGS:=-O1 -g -fsanitize=address,undefined,fuzzer-no-link}"
: "${CXXFLAGS:=$CFLAGS}"
: "${LIB_FUZZING_ENGINE:=-fsanitize=fuzzer}"
: "${OUT:=$root/build/oss-fuzz/out}"
work=${WORK:-$root/build/oss-fuzz}/baton
targets="state frame manifest main_args spec"
rm -rf "$work" && mkdir -p "$work/obj" "$OUT"

jsrc=${JANSSON_SRC:-}
[ "$jsrc" = none ] && jsrc=
[ -n "${JANSSON_SRC:-}" ] || for d in "${SRC:-/nonexistent}/jansson" build/jansson-src; do
  [ -f "$d/src/jansson.h" ] && { jsrc=$d; break; }
done

cflags="-std=gnu11 -D_GNU_SOURCE -DFIU_ENABLE=1 -Isrc -Iharness $CFLAGS"
objs=()
if [ -n "$jsrc" ]; then
  echo "build.sh: jansson from $jsrc, instrumented"
  ci/jansson-config "$jsrc" "$work/jansson-config"
  cflags="$cflags -I$jsrc/src -I$work/jansson-config"
  for f in "$jsrc"/src/*.c; do
    o=$work/obj/jansson-$(basename "$f" .c).o
    $CC $CFLAGS -DHAVE_CONFIG_H=1 -I"$work/jansson-config" -w -c "$f" -o "$o"
    objs+=("$o")
  done
  jlib=()
else
  echo "build.sh: no jansson source, linking the system's static libjansson.a"
  jlib=(-Wl,-Bstatic -ljansson -Wl,-Bdynamic)
fi
for f in src/*.c harness/fuzz/oracle.c; do
  [ "$f" = src/batond.c ] && continue
  o=$work/obj/$(basename "$f" .c).o
  $CC $cflags -c "$f" -o "$o"
  objs+=("$o")
done
ar rcs "$work/libbaton.a" "${objs[@]}"
# the oracle's heap counter: linked as an object, never from the archive
$CC $cflags -c harness/fuzz/heapcount.c -o "$work/fuzz_heapcount.o"

for t in $targets; do
  $CC $cflags -c "harness/fuzz/$t.c" -o "$work/fuzz_$t.o"
  $CXX $CXXFLAGS "$work/fuzz_$t.o" "$work/fuzz_heapcount.o" -o "$OUT/fuzz_$t" $LIB_FUZZING_ENGINE \
    "$work/libbaton.a" "${jlib[@]}" -Wl,-Bstatic -lfiu -Wl,-Bdynamic -pthread
  rm -f "$OUT/fuzz_${t}_seed_corpus.zip"
  find "corpus/$t" "corpus/regress/$t" -maxdepth 1 -type f ! -name '.*' ! -name 'README*' \
    -print0 | xargs -0 zip -q -j "$OUT/fuzz_${t}_seed_corpus.zip"
  cp "corpus/$t.dict" "$OUT/fuzz_$t.dict"
  cp "ci/oss-fuzz/fuzz_$t.options" "$OUT/fuzz_$t.options"
done
echo "build.sh: $(echo $targets | wc -w) targets in $OUT"
