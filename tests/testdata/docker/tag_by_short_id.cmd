docker tag f5455b23f29e busybox:byid
