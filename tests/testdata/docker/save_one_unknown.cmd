docker save -o unk2.tar busybox:latest nosuch:latest
