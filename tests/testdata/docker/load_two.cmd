docker load -i two.tar
