docker load -i bb-oci.tar
