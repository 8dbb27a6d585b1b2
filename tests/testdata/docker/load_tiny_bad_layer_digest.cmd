docker load -i x-tiny-layer.tar
