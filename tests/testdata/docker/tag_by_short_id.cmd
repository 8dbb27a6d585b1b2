docker tag 85f8dd08026e busybox:byid
