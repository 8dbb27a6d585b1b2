docker save -o unk.tar nosuch:latest
