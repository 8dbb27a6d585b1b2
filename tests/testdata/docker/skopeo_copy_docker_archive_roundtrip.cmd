skopeo copy docker-archive:busybox-save.tar docker-archive:bb-skopeo.tar:busybox:latest && tar -tvf bb-skopeo.tar && tar -xOf bb-skopeo.tar manifest.json
