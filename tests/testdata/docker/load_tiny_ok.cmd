docker load -i tiny-save.tar
