docker load -i x-tiny-nomanifest.tar
