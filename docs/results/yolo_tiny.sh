#!/bin/sh
# docs/results/yolo_tiny.sh — reruns the YOLO result of the README (detector.sh).
exec sh docs/results/detector.sh yolo_tiny
