skopeo inspect --config docker-archive:busybox-save.tar
