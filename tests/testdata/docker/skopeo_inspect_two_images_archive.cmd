skopeo inspect docker-archive:two.tar
