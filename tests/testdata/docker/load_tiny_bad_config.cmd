docker load -i x-tiny-config.tar
