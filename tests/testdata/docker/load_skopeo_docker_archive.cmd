docker load -i bb-skopeo.tar
