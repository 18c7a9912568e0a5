#!/bin/sh
# Overhead benchmarks; see testsuite/vm/bench.c. Written by the bench step.
echo "bench: not yet"
