skopeo inspect --raw docker-archive:busybox-save.tar
