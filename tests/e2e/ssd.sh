# Sourced by tests/e2e/run.sh after detect.sh (needs B, T, pass, fail, and
# detect.sh's detect_run): samples/ssd_tiny.dln — anchors at two scales, SSD
# matching, hard negative mining, the box form of metrics = [map] — on a
# small detection_canvas for 20 steps: finite loss, the mAP figures in [0, 1]
# with 0.5:0.95 at most 0.5, and a run at 2 threads prints the same figures
# (the matching, the ranks of hard_negatives and the decoding with its NMS do
# not depend on the thread count).
detect_run ssd_tiny
