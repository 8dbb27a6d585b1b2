skopeo copy docker-archive:busybox-save.tar oci-archive:bb-oci.tar:busybox:latest && tar -tvf bb-oci.tar
