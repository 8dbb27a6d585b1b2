docker import -c 'ENV A=b' -c 'LABEL x=y' -c 'EXPOSE 80/tcp' -c 'WORKDIR /w' -c 'USER 1000' -c 'VOLUME /data' -c 'ENTRYPOINT ["/bin/sh","-c"]' -m "a message" busybox.tar.gz example/app:v1
