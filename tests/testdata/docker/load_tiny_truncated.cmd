docker load -i tiny-truncated.tar
