docker load -i x-tiny-noconfig.tar
