docker load -i truncated-header.tar
