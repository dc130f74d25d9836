#!/bin/sh
# docs/results/ssd_tiny.sh — reruns the SSD result of the README (detector.sh).
exec sh docs/results/detector.sh ssd_tiny
