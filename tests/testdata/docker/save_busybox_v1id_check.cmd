python3 v1id.py x-busybox
