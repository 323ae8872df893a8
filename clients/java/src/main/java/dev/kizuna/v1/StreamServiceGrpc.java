package dev.kizuna.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * StreamService carries live camera, screen, audio or data frames between an app on this device
 * and an app on a trusted peer.
 * </pre>
 */
@io.grpc.stub.annotations.GrpcGenerated
public final class StreamServiceGrpc {

  private StreamServiceGrpc() {}

  public static final java.lang.String SERVICE_NAME = "kizuna.v1.StreamService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<dev.kizuna.v1.OpenStreamRequest,
      dev.kizuna.v1.OpenStreamResponse> getOpenStreamMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "OpenStream",
      requestType = dev.kizuna.v1.OpenStreamRequest.class,
      responseType = dev.kizuna.v1.OpenStreamResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.BIDI_STREAMING)
  public static io.grpc.MethodDescriptor<dev.kizuna.v1.OpenStreamRequest,
      dev.kizuna.v1.OpenStreamResponse> getOpenStreamMethod() {
    io.grpc.MethodDescriptor<dev.kizuna.v1.OpenStreamRequest, dev.kizuna.v1.OpenStreamResponse> getOpenStreamMethod;
    if ((getOpenStreamMethod = StreamServiceGrpc.getOpenStreamMethod) == null) {
      synchronized (StreamServiceGrpc.class) {
        if ((getOpenStreamMethod = StreamServiceGrpc.getOpenStreamMethod) == null) {
          StreamServiceGrpc.getOpenStreamMethod = getOpenStreamMethod =
              io.grpc.MethodDescriptor.<dev.kizuna.v1.OpenStreamRequest, dev.kizuna.v1.OpenStreamResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.BIDI_STREAMING)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "OpenStream"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.OpenStreamRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.OpenStreamResponse.getDefaultInstance()))
              .setSchemaDescriptor(new StreamServiceMethodDescriptorSupplier("OpenStream"))
              .build();
        }
      }
    }
    return getOpenStreamMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.kizuna.v1.AttachStreamRequest,
      dev.kizuna.v1.AttachStreamResponse> getAttachStreamMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "AttachStream",
      requestType = dev.kizuna.v1.AttachStreamRequest.class,
      responseType = dev.kizuna.v1.AttachStreamResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.BIDI_STREAMING)
  public static io.grpc.MethodDescriptor<dev.kizuna.v1.AttachStreamRequest,
      dev.kizuna.v1.AttachStreamResponse> getAttachStreamMethod() {
    io.grpc.MethodDescriptor<dev.kizuna.v1.AttachStreamRequest, dev.kizuna.v1.AttachStreamResponse> getAttachStreamMethod;
    if ((getAttachStreamMethod = StreamServiceGrpc.getAttachStreamMethod) == null) {
      synchronized (StreamServiceGrpc.class) {
        if ((getAttachStreamMethod = StreamServiceGrpc.getAttachStreamMethod) == null) {
          StreamServiceGrpc.getAttachStreamMethod = getAttachStreamMethod =
              io.grpc.MethodDescriptor.<dev.kizuna.v1.AttachStreamRequest, dev.kizuna.v1.AttachStreamResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.BIDI_STREAMING)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "AttachStream"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.AttachStreamRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.AttachStreamResponse.getDefaultInstance()))
              .setSchemaDescriptor(new StreamServiceMethodDescriptorSupplier("AttachStream"))
              .build();
        }
      }
    }
    return getAttachStreamMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.kizuna.v1.AcceptStreamRequest,
      dev.kizuna.v1.AcceptStreamResponse> getAcceptStreamMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "AcceptStream",
      requestType = dev.kizuna.v1.AcceptStreamRequest.class,
      responseType = dev.kizuna.v1.AcceptStreamResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.kizuna.v1.AcceptStreamRequest,
      dev.kizuna.v1.AcceptStreamResponse> getAcceptStreamMethod() {
    io.grpc.MethodDescriptor<dev.kizuna.v1.AcceptStreamRequest, dev.kizuna.v1.AcceptStreamResponse> getAcceptStreamMethod;
    if ((getAcceptStreamMethod = StreamServiceGrpc.getAcceptStreamMethod) == null) {
      synchronized (StreamServiceGrpc.class) {
        if ((getAcceptStreamMethod = StreamServiceGrpc.getAcceptStreamMethod) == null) {
          StreamServiceGrpc.getAcceptStreamMethod = getAcceptStreamMethod =
              io.grpc.MethodDescriptor.<dev.kizuna.v1.AcceptStreamRequest, dev.kizuna.v1.AcceptStreamResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "AcceptStream"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.AcceptStreamRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.AcceptStreamResponse.getDefaultInstance()))
              .setSchemaDescriptor(new StreamServiceMethodDescriptorSupplier("AcceptStream"))
              .build();
        }
      }
    }
    return getAcceptStreamMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.kizuna.v1.RejectStreamRequest,
      dev.kizuna.v1.RejectStreamResponse> getRejectStreamMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "RejectStream",
      requestType = dev.kizuna.v1.RejectStreamRequest.class,
      responseType = dev.kizuna.v1.RejectStreamResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.kizuna.v1.RejectStreamRequest,
      dev.kizuna.v1.RejectStreamResponse> getRejectStreamMethod() {
    io.grpc.MethodDescriptor<dev.kizuna.v1.RejectStreamRequest, dev.kizuna.v1.RejectStreamResponse> getRejectStreamMethod;
    if ((getRejectStreamMethod = StreamServiceGrpc.getRejectStreamMethod) == null) {
      synchronized (StreamServiceGrpc.class) {
        if ((getRejectStreamMethod = StreamServiceGrpc.getRejectStreamMethod) == null) {
          StreamServiceGrpc.getRejectStreamMethod = getRejectStreamMethod =
              io.grpc.MethodDescriptor.<dev.kizuna.v1.RejectStreamRequest, dev.kizuna.v1.RejectStreamResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "RejectStream"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.RejectStreamRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.RejectStreamResponse.getDefaultInstance()))
              .setSchemaDescriptor(new StreamServiceMethodDescriptorSupplier("RejectStream"))
              .build();
        }
      }
    }
    return getRejectStreamMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.kizuna.v1.CloseStreamRequest,
      dev.kizuna.v1.CloseStreamResponse> getCloseStreamMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "CloseStream",
      requestType = dev.kizuna.v1.CloseStreamRequest.class,
      responseType = dev.kizuna.v1.CloseStreamResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.kizuna.v1.CloseStreamRequest,
      dev.kizuna.v1.CloseStreamResponse> getCloseStreamMethod() {
    io.grpc.MethodDescriptor<dev.kizuna.v1.CloseStreamRequest, dev.kizuna.v1.CloseStreamResponse> getCloseStreamMethod;
    if ((getCloseStreamMethod = StreamServiceGrpc.getCloseStreamMethod) == null) {
      synchronized (StreamServiceGrpc.class) {
        if ((getCloseStreamMethod = StreamServiceGrpc.getCloseStreamMethod) == null) {
          StreamServiceGrpc.getCloseStreamMethod = getCloseStreamMethod =
              io.grpc.MethodDescriptor.<dev.kizuna.v1.CloseStreamRequest, dev.kizuna.v1.CloseStreamResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "CloseStream"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.CloseStreamRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.CloseStreamResponse.getDefaultInstance()))
              .setSchemaDescriptor(new StreamServiceMethodDescriptorSupplier("CloseStream"))
              .build();
        }
      }
    }
    return getCloseStreamMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.kizuna.v1.GetStreamRequest,
      dev.kizuna.v1.GetStreamResponse> getGetStreamMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetStream",
      requestType = dev.kizuna.v1.GetStreamRequest.class,
      responseType = dev.kizuna.v1.GetStreamResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.kizuna.v1.GetStreamRequest,
      dev.kizuna.v1.GetStreamResponse> getGetStreamMethod() {
    io.grpc.MethodDescriptor<dev.kizuna.v1.GetStreamRequest, dev.kizuna.v1.GetStreamResponse> getGetStreamMethod;
    if ((getGetStreamMethod = StreamServiceGrpc.getGetStreamMethod) == null) {
      synchronized (StreamServiceGrpc.class) {
        if ((getGetStreamMethod = StreamServiceGrpc.getGetStreamMethod) == null) {
          StreamServiceGrpc.getGetStreamMethod = getGetStreamMethod =
              io.grpc.MethodDescriptor.<dev.kizuna.v1.GetStreamRequest, dev.kizuna.v1.GetStreamResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetStream"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.GetStreamRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.GetStreamResponse.getDefaultInstance()))
              .setSchemaDescriptor(new StreamServiceMethodDescriptorSupplier("GetStream"))
              .build();
        }
      }
    }
    return getGetStreamMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.kizuna.v1.ListStreamsRequest,
      dev.kizuna.v1.ListStreamsResponse> getListStreamsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListStreams",
      requestType = dev.kizuna.v1.ListStreamsRequest.class,
      responseType = dev.kizuna.v1.ListStreamsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.kizuna.v1.ListStreamsRequest,
      dev.kizuna.v1.ListStreamsResponse> getListStreamsMethod() {
    io.grpc.MethodDescriptor<dev.kizuna.v1.ListStreamsRequest, dev.kizuna.v1.ListStreamsResponse> getListStreamsMethod;
    if ((getListStreamsMethod = StreamServiceGrpc.getListStreamsMethod) == null) {
      synchronized (StreamServiceGrpc.class) {
        if ((getListStreamsMethod = StreamServiceGrpc.getListStreamsMethod) == null) {
          StreamServiceGrpc.getListStreamsMethod = getListStreamsMethod =
              io.grpc.MethodDescriptor.<dev.kizuna.v1.ListStreamsRequest, dev.kizuna.v1.ListStreamsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListStreams"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.ListStreamsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.ListStreamsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new StreamServiceMethodDescriptorSupplier("ListStreams"))
              .build();
        }
      }
    }
    return getListStreamsMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static StreamServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<StreamServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<StreamServiceStub>() {
        @java.lang.Override
        public StreamServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new StreamServiceStub(channel, callOptions);
        }
      };
    return StreamServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports all types of calls on the service
   */
  public static StreamServiceBlockingV2Stub newBlockingV2Stub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<StreamServiceBlockingV2Stub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<StreamServiceBlockingV2Stub>() {
        @java.lang.Override
        public StreamServiceBlockingV2Stub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new StreamServiceBlockingV2Stub(channel, callOptions);
        }
      };
    return StreamServiceBlockingV2Stub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static StreamServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<StreamServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<StreamServiceBlockingStub>() {
        @java.lang.Override
        public StreamServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new StreamServiceBlockingStub(channel, callOptions);
        }
      };
    return StreamServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static StreamServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<StreamServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<StreamServiceFutureStub>() {
        @java.lang.Override
        public StreamServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new StreamServiceFutureStub(channel, callOptions);
        }
      };
    return StreamServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * StreamService carries live camera, screen, audio or data frames between an app on this device
   * and an app on a trusted peer.
   * </pre>
   */
  public interface AsyncService {

    /**
     * <pre>
     * Opens a stream to a peer app. Send a StreamHeader first, then frames (none when the header
     * names a built-in capture source); the first response reports the stream once the peer
     * accepted it (or the call ends with STREAM_REJECTED). Frames sent back by the peer app, and
     * keyframe requests, arrive as responses. Half-close or cancel ends the stream normally.
     * Errors: PEER_NOT_FOUND, PEER_NOT_TRUSTED, PEER_UNREACHABLE, PERMISSION_DENIED_BY_PEER,
     * SUBSYSTEM_UNAVAILABLE (the peer does not offer streams), STREAM_REJECTED, STREAM_CLOSED
     * (the peer closed it or the link dropped), CAPTURE_UNAVAILABLE, LIMIT_EXCEEDED,
     * INVALID_ARGUMENT (header missing or invalid).
     * </pre>
     */
    default io.grpc.stub.StreamObserver<dev.kizuna.v1.OpenStreamRequest> openStream(
        io.grpc.stub.StreamObserver<dev.kizuna.v1.OpenStreamResponse> responseObserver) {
      return io.grpc.stub.ServerCalls.asyncUnimplementedStreamingCall(getOpenStreamMethod(), responseObserver);
    }

    /**
     * <pre>
     * Attaches this app to an incoming stream, accepting it if it is still offered. Send an
     * AttachHeader first, then (optionally) frames back to the opener; frames from the opener
     * arrive as responses. Several apps may attach to one stream: each gets every frame, or under
     * STREAM_DELIVERY_LATEST the latest ones it can keep up with.
     * Errors: STREAM_NOT_FOUND, STREAM_CLOSED.
     * </pre>
     */
    default io.grpc.stub.StreamObserver<dev.kizuna.v1.AttachStreamRequest> attachStream(
        io.grpc.stub.StreamObserver<dev.kizuna.v1.AttachStreamResponse> responseObserver) {
      return io.grpc.stub.ServerCalls.asyncUnimplementedStreamingCall(getAttachStreamMethod(), responseObserver);
    }

    /**
     * <pre>
     * Accepts an incoming stream without attaching (a person's answer): it opens, and apps attach
     * to watch it.
     * Errors: STREAM_NOT_FOUND, STREAM_CLOSED.
     * </pre>
     */
    default void acceptStream(dev.kizuna.v1.AcceptStreamRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.AcceptStreamResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getAcceptStreamMethod(), responseObserver);
    }

    /**
     * <pre>
     * Rejects an incoming stream.
     * Errors: STREAM_NOT_FOUND.
     * </pre>
     */
    default void rejectStream(dev.kizuna.v1.RejectStreamRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.RejectStreamResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getRejectStreamMethod(), responseObserver);
    }

    /**
     * <pre>
     * Closes a stream from outside its call (for example from the CLI), from either end.
     * Errors: STREAM_NOT_FOUND.
     * </pre>
     */
    default void closeStream(dev.kizuna.v1.CloseStreamRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.CloseStreamResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getCloseStreamMethod(), responseObserver);
    }

    /**
     * <pre>
     * Returns one stream, offered, open or recently ended.
     * Errors: STREAM_NOT_FOUND.
     * </pre>
     */
    default void getStream(dev.kizuna.v1.GetStreamRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.GetStreamResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetStreamMethod(), responseObserver);
    }

    /**
     * <pre>
     * Lists offered and open streams.
     * Errors: none beyond transport errors.
     * </pre>
     */
    default void listStreams(dev.kizuna.v1.ListStreamsRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.ListStreamsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListStreamsMethod(), responseObserver);
    }
  }

  /**
   * Base class for the server implementation of the service StreamService.
   * <pre>
   * StreamService carries live camera, screen, audio or data frames between an app on this device
   * and an app on a trusted peer.
   * </pre>
   */
  public static abstract class StreamServiceImplBase
      implements io.grpc.BindableService, AsyncService {

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return StreamServiceGrpc.bindService(this);
    }
  }

  /**
   * A stub to allow clients to do asynchronous rpc calls to service StreamService.
   * <pre>
   * StreamService carries live camera, screen, audio or data frames between an app on this device
   * and an app on a trusted peer.
   * </pre>
   */
  public static final class StreamServiceStub
      extends io.grpc.stub.AbstractAsyncStub<StreamServiceStub> {
    private StreamServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected StreamServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new StreamServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * Opens a stream to a peer app. Send a StreamHeader first, then frames (none when the header
     * names a built-in capture source); the first response reports the stream once the peer
     * accepted it (or the call ends with STREAM_REJECTED). Frames sent back by the peer app, and
     * keyframe requests, arrive as responses. Half-close or cancel ends the stream normally.
     * Errors: PEER_NOT_FOUND, PEER_NOT_TRUSTED, PEER_UNREACHABLE, PERMISSION_DENIED_BY_PEER,
     * SUBSYSTEM_UNAVAILABLE (the peer does not offer streams), STREAM_REJECTED, STREAM_CLOSED
     * (the peer closed it or the link dropped), CAPTURE_UNAVAILABLE, LIMIT_EXCEEDED,
     * INVALID_ARGUMENT (header missing or invalid).
     * </pre>
     */
    public io.grpc.stub.StreamObserver<dev.kizuna.v1.OpenStreamRequest> openStream(
        io.grpc.stub.StreamObserver<dev.kizuna.v1.OpenStreamResponse> responseObserver) {
      return io.grpc.stub.ClientCalls.asyncBidiStreamingCall(
          getChannel().newCall(getOpenStreamMethod(), getCallOptions()), responseObserver);
    }

    /**
     * <pre>
     * Attaches this app to an incoming stream, accepting it if it is still offered. Send an
     * AttachHeader first, then (optionally) frames back to the opener; frames from the opener
     * arrive as responses. Several apps may attach to one stream: each gets every frame, or under
     * STREAM_DELIVERY_LATEST the latest ones it can keep up with.
     * Errors: STREAM_NOT_FOUND, STREAM_CLOSED.
     * </pre>
     */
    public io.grpc.stub.StreamObserver<dev.kizuna.v1.AttachStreamRequest> attachStream(
        io.grpc.stub.StreamObserver<dev.kizuna.v1.AttachStreamResponse> responseObserver) {
      return io.grpc.stub.ClientCalls.asyncBidiStreamingCall(
          getChannel().newCall(getAttachStreamMethod(), getCallOptions()), responseObserver);
    }

    /**
     * <pre>
     * Accepts an incoming stream without attaching (a person's answer): it opens, and apps attach
     * to watch it.
     * Errors: STREAM_NOT_FOUND, STREAM_CLOSED.
     * </pre>
     */
    public void acceptStream(dev.kizuna.v1.AcceptStreamRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.AcceptStreamResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getAcceptStreamMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Rejects an incoming stream.
     * Errors: STREAM_NOT_FOUND.
     * </pre>
     */
    public void rejectStream(dev.kizuna.v1.RejectStreamRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.RejectStreamResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getRejectStreamMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Closes a stream from outside its call (for example from the CLI), from either end.
     * Errors: STREAM_NOT_FOUND.
     * </pre>
     */
    public void closeStream(dev.kizuna.v1.CloseStreamRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.CloseStreamResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getCloseStreamMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Returns one stream, offered, open or recently ended.
     * Errors: STREAM_NOT_FOUND.
     * </pre>
     */
    public void getStream(dev.kizuna.v1.GetStreamRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.GetStreamResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetStreamMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Lists offered and open streams.
     * Errors: none beyond transport errors.
     * </pre>
     */
    public void listStreams(dev.kizuna.v1.ListStreamsRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.ListStreamsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListStreamsMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * A stub to allow clients to do synchronous rpc calls to service StreamService.
   * <pre>
   * StreamService carries live camera, screen, audio or data frames between an app on this device
   * and an app on a trusted peer.
   * </pre>
   */
  public static final class StreamServiceBlockingV2Stub
      extends io.grpc.stub.AbstractBlockingStub<StreamServiceBlockingV2Stub> {
    private StreamServiceBlockingV2Stub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected StreamServiceBlockingV2Stub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new StreamServiceBlockingV2Stub(channel, callOptions);
    }

    /**
     * <pre>
     * Opens a stream to a peer app. Send a StreamHeader first, then frames (none when the header
     * names a built-in capture source); the first response reports the stream once the peer
     * accepted it (or the call ends with STREAM_REJECTED). Frames sent back by the peer app, and
     * keyframe requests, arrive as responses. Half-close or cancel ends the stream normally.
     * Errors: PEER_NOT_FOUND, PEER_NOT_TRUSTED, PEER_UNREACHABLE, PERMISSION_DENIED_BY_PEER,
     * SUBSYSTEM_UNAVAILABLE (the peer does not offer streams), STREAM_REJECTED, STREAM_CLOSED
     * (the peer closed it or the link dropped), CAPTURE_UNAVAILABLE, LIMIT_EXCEEDED,
     * INVALID_ARGUMENT (header missing or invalid).
     * </pre>
     */
    @io.grpc.ExperimentalApi("https://github.com/grpc/grpc-java/issues/10918")
    public io.grpc.stub.BlockingClientCall<dev.kizuna.v1.OpenStreamRequest, dev.kizuna.v1.OpenStreamResponse>
        openStream() {
      return io.grpc.stub.ClientCalls.blockingBidiStreamingCall(
          getChannel(), getOpenStreamMethod(), getCallOptions());
    }

    /**
     * <pre>
     * Attaches this app to an incoming stream, accepting it if it is still offered. Send an
     * AttachHeader first, then (optionally) frames back to the opener; frames from the opener
     * arrive as responses. Several apps may attach to one stream: each gets every frame, or under
     * STREAM_DELIVERY_LATEST the latest ones it can keep up with.
     * Errors: STREAM_NOT_FOUND, STREAM_CLOSED.
     * </pre>
     */
    @io.grpc.ExperimentalApi("https://github.com/grpc/grpc-java/issues/10918")
    public io.grpc.stub.BlockingClientCall<dev.kizuna.v1.AttachStreamRequest, dev.kizuna.v1.AttachStreamResponse>
        attachStream() {
      return io.grpc.stub.ClientCalls.blockingBidiStreamingCall(
          getChannel(), getAttachStreamMethod(), getCallOptions());
    }

    /**
     * <pre>
     * Accepts an incoming stream without attaching (a person's answer): it opens, and apps attach
     * to watch it.
     * Errors: STREAM_NOT_FOUND, STREAM_CLOSED.
     * </pre>
     */
    public dev.kizuna.v1.AcceptStreamResponse acceptStream(dev.kizuna.v1.AcceptStreamRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getAcceptStreamMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Rejects an incoming stream.
     * Errors: STREAM_NOT_FOUND.
     * </pre>
     */
    public dev.kizuna.v1.RejectStreamResponse rejectStream(dev.kizuna.v1.RejectStreamRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getRejectStreamMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Closes a stream from outside its call (for example from the CLI), from either end.
     * Errors: STREAM_NOT_FOUND.
     * </pre>
     */
    public dev.kizuna.v1.CloseStreamResponse closeStream(dev.kizuna.v1.CloseStreamRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getCloseStreamMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns one stream, offered, open or recently ended.
     * Errors: STREAM_NOT_FOUND.
     * </pre>
     */
    public dev.kizuna.v1.GetStreamResponse getStream(dev.kizuna.v1.GetStreamRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetStreamMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists offered and open streams.
     * Errors: none beyond transport errors.
     * </pre>
     */
    public dev.kizuna.v1.ListStreamsResponse listStreams(dev.kizuna.v1.ListStreamsRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getListStreamsMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do limited synchronous rpc calls to service StreamService.
   * <pre>
   * StreamService carries live camera, screen, audio or data frames between an app on this device
   * and an app on a trusted peer.
   * </pre>
   */
  public static final class StreamServiceBlockingStub
      extends io.grpc.stub.AbstractBlockingStub<StreamServiceBlockingStub> {
    private StreamServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected StreamServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new StreamServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * Accepts an incoming stream without attaching (a person's answer): it opens, and apps attach
     * to watch it.
     * Errors: STREAM_NOT_FOUND, STREAM_CLOSED.
     * </pre>
     */
    public dev.kizuna.v1.AcceptStreamResponse acceptStream(dev.kizuna.v1.AcceptStreamRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getAcceptStreamMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Rejects an incoming stream.
     * Errors: STREAM_NOT_FOUND.
     * </pre>
     */
    public dev.kizuna.v1.RejectStreamResponse rejectStream(dev.kizuna.v1.RejectStreamRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getRejectStreamMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Closes a stream from outside its call (for example from the CLI), from either end.
     * Errors: STREAM_NOT_FOUND.
     * </pre>
     */
    public dev.kizuna.v1.CloseStreamResponse closeStream(dev.kizuna.v1.CloseStreamRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getCloseStreamMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns one stream, offered, open or recently ended.
     * Errors: STREAM_NOT_FOUND.
     * </pre>
     */
    public dev.kizuna.v1.GetStreamResponse getStream(dev.kizuna.v1.GetStreamRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetStreamMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists offered and open streams.
     * Errors: none beyond transport errors.
     * </pre>
     */
    public dev.kizuna.v1.ListStreamsResponse listStreams(dev.kizuna.v1.ListStreamsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListStreamsMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do ListenableFuture-style rpc calls to service StreamService.
   * <pre>
   * StreamService carries live camera, screen, audio or data frames between an app on this device
   * and an app on a trusted peer.
   * </pre>
   */
  public static final class StreamServiceFutureStub
      extends io.grpc.stub.AbstractFutureStub<StreamServiceFutureStub> {
    private StreamServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected StreamServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new StreamServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * Accepts an incoming stream without attaching (a person's answer): it opens, and apps attach
     * to watch it.
     * Errors: STREAM_NOT_FOUND, STREAM_CLOSED.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.kizuna.v1.AcceptStreamResponse> acceptStream(
        dev.kizuna.v1.AcceptStreamRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getAcceptStreamMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Rejects an incoming stream.
     * Errors: STREAM_NOT_FOUND.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.kizuna.v1.RejectStreamResponse> rejectStream(
        dev.kizuna.v1.RejectStreamRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getRejectStreamMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Closes a stream from outside its call (for example from the CLI), from either end.
     * Errors: STREAM_NOT_FOUND.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.kizuna.v1.CloseStreamResponse> closeStream(
        dev.kizuna.v1.CloseStreamRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getCloseStreamMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Returns one stream, offered, open or recently ended.
     * Errors: STREAM_NOT_FOUND.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.kizuna.v1.GetStreamResponse> getStream(
        dev.kizuna.v1.GetStreamRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetStreamMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Lists offered and open streams.
     * Errors: none beyond transport errors.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.kizuna.v1.ListStreamsResponse> listStreams(
        dev.kizuna.v1.ListStreamsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListStreamsMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_ACCEPT_STREAM = 0;
  private static final int METHODID_REJECT_STREAM = 1;
  private static final int METHODID_CLOSE_STREAM = 2;
  private static final int METHODID_GET_STREAM = 3;
  private static final int METHODID_LIST_STREAMS = 4;
  private static final int METHODID_OPEN_STREAM = 5;
  private static final int METHODID_ATTACH_STREAM = 6;

  private static final class MethodHandlers<Req, Resp> implements
      io.grpc.stub.ServerCalls.UnaryMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ServerStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ClientStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.BidiStreamingMethod<Req, Resp> {
    private final AsyncService serviceImpl;
    private final int methodId;

    MethodHandlers(AsyncService serviceImpl, int methodId) {
      this.serviceImpl = serviceImpl;
      this.methodId = methodId;
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public void invoke(Req request, io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        case METHODID_ACCEPT_STREAM:
          serviceImpl.acceptStream((dev.kizuna.v1.AcceptStreamRequest) request,
              (io.grpc.stub.StreamObserver<dev.kizuna.v1.AcceptStreamResponse>) responseObserver);
          break;
        case METHODID_REJECT_STREAM:
          serviceImpl.rejectStream((dev.kizuna.v1.RejectStreamRequest) request,
              (io.grpc.stub.StreamObserver<dev.kizuna.v1.RejectStreamResponse>) responseObserver);
          break;
        case METHODID_CLOSE_STREAM:
          serviceImpl.closeStream((dev.kizuna.v1.CloseStreamRequest) request,
              (io.grpc.stub.StreamObserver<dev.kizuna.v1.CloseStreamResponse>) responseObserver);
          break;
        case METHODID_GET_STREAM:
          serviceImpl.getStream((dev.kizuna.v1.GetStreamRequest) request,
              (io.grpc.stub.StreamObserver<dev.kizuna.v1.GetStreamResponse>) responseObserver);
          break;
        case METHODID_LIST_STREAMS:
          serviceImpl.listStreams((dev.kizuna.v1.ListStreamsRequest) request,
              (io.grpc.stub.StreamObserver<dev.kizuna.v1.ListStreamsResponse>) responseObserver);
          break;
        default:
          throw new AssertionError();
      }
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public io.grpc.stub.StreamObserver<Req> invoke(
        io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        case METHODID_OPEN_STREAM:
          return (io.grpc.stub.StreamObserver<Req>) serviceImpl.openStream(
              (io.grpc.stub.StreamObserver<dev.kizuna.v1.OpenStreamResponse>) responseObserver);
        case METHODID_ATTACH_STREAM:
          return (io.grpc.stub.StreamObserver<Req>) serviceImpl.attachStream(
              (io.grpc.stub.StreamObserver<dev.kizuna.v1.AttachStreamResponse>) responseObserver);
        default:
          throw new AssertionError();
      }
    }
  }

  public static final io.grpc.ServerServiceDefinition bindService(AsyncService service) {
    return io.grpc.ServerServiceDefinition.builder(getServiceDescriptor())
        .addMethod(
          getOpenStreamMethod(),
          io.grpc.stub.ServerCalls.asyncBidiStreamingCall(
            new MethodHandlers<
              dev.kizuna.v1.OpenStreamRequest,
              dev.kizuna.v1.OpenStreamResponse>(
                service, METHODID_OPEN_STREAM)))
        .addMethod(
          getAttachStreamMethod(),
          io.grpc.stub.ServerCalls.asyncBidiStreamingCall(
            new MethodHandlers<
              dev.kizuna.v1.AttachStreamRequest,
              dev.kizuna.v1.AttachStreamResponse>(
                service, METHODID_ATTACH_STREAM)))
        .addMethod(
          getAcceptStreamMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.kizuna.v1.AcceptStreamRequest,
              dev.kizuna.v1.AcceptStreamResponse>(
                service, METHODID_ACCEPT_STREAM)))
        .addMethod(
          getRejectStreamMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.kizuna.v1.RejectStreamRequest,
              dev.kizuna.v1.RejectStreamResponse>(
                service, METHODID_REJECT_STREAM)))
        .addMethod(
          getCloseStreamMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.kizuna.v1.CloseStreamRequest,
              dev.kizuna.v1.CloseStreamResponse>(
                service, METHODID_CLOSE_STREAM)))
        .addMethod(
          getGetStreamMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.kizuna.v1.GetStreamRequest,
              dev.kizuna.v1.GetStreamResponse>(
                service, METHODID_GET_STREAM)))
        .addMethod(
          getListStreamsMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.kizuna.v1.ListStreamsRequest,
              dev.kizuna.v1.ListStreamsResponse>(
                service, METHODID_LIST_STREAMS)))
        .build();
  }

  private static abstract class StreamServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    StreamServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return dev.kizuna.v1.StreamServiceProto.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("StreamService");
    }
  }

  private static final class StreamServiceFileDescriptorSupplier
      extends StreamServiceBaseDescriptorSupplier {
    StreamServiceFileDescriptorSupplier() {}
  }

  private static final class StreamServiceMethodDescriptorSupplier
      extends StreamServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final java.lang.String methodName;

    StreamServiceMethodDescriptorSupplier(java.lang.String methodName) {
      this.methodName = methodName;
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.MethodDescriptor getMethodDescriptor() {
      return getServiceDescriptor().findMethodByName(methodName);
    }
  }

  private static volatile io.grpc.ServiceDescriptor serviceDescriptor;

  public static io.grpc.ServiceDescriptor getServiceDescriptor() {
    io.grpc.ServiceDescriptor result = serviceDescriptor;
    if (result == null) {
      synchronized (StreamServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new StreamServiceFileDescriptorSupplier())
              .addMethod(getOpenStreamMethod())
              .addMethod(getAttachStreamMethod())
              .addMethod(getAcceptStreamMethod())
              .addMethod(getRejectStreamMethod())
              .addMethod(getCloseStreamMethod())
              .addMethod(getGetStreamMethod())
              .addMethod(getListStreamsMethod())
              .build();
        }
      }
    }
    return result;
  }
}
