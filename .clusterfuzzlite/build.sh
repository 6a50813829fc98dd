#!/bin/bash -eu
# ClusterFuzzLite / OSS-Fuzz build: the cargo fuzz targets under fuzz/, built as their Rust
# builds are (release with debug assertions; the sanitizer comes from $SANITIZER via
# cargo-fuzz's defaults in base-builder-rust), copied to $OUT with their seed corpora.
cd $SRC/imspec
cargo fuzz build -O --debug-assertions
for target in $(cargo fuzz list); do
  cp fuzz/target/x86_64-unknown-linux-gnu/release/$target $OUT/
  if [ -d fuzz/corpus/$target ]; then
    (cd fuzz/corpus/$target && zip -q -r $OUT/${target}_seed_corpus.zip .)
  fi
done
