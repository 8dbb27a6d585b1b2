python3 tarheaders.py busybox-save.tar
